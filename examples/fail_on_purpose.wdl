version 1.0

# Fails on purpose: wfrewrite reports the task's name, its return code and the tail of stderr.
task fail_on_purpose {
  input {
    String reason = "the reference genome is missing"
  }

  command <<<
    echo "checking inputs..."
    echo "fatal: ~{reason}" >&2
    exit 3
  >>>

  output {
    String never = read_string(stdout())
  }

  runtime {
    docker: "busybox:latest"
  }
}
