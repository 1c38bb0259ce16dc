version 1.0

task privileged {
  command <<< echo >>>
  runtime {
    docker: "ubuntu:22.04"
    privileged: true  # error: unsupported: runtime key 'privileged: true'
  }
}
