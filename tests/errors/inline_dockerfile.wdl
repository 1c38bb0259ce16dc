version 1.0

task inline_dockerfile {
  command <<< echo >>>
  runtime {
    inlineDockerfile: "FROM ubuntu:22.04"  # error: unsupported: runtime key 'inlineDockerfile'
  }
}
