version 1.0

task runtime_keys {
  input {
    Int mem_gb = 1
  }

  command <<<
    echo running
    exit 3
  >>>

  output {
    String out = read_string(stdout())
  }

  runtime {
    docker: ["debian:bookworm-slim", "ubuntu:22.04"]
    cpu: 1
    memory: "~{mem_gb} GiB"
    disks: "local-disk 10 SSD"
    continueOnReturnCode: [0, 3]
    maxRetries: 2
    preemptible: 1
    zones: "us-east1-b"
  }
}
