version 1.2

task wdl12_task_env {
  input {
    env String GREETING = "hello from env"
    String who = "world"
  }

  command <<<
    echo "$GREETING, ~{who}"
    echo "task ~{task.name} attempt ~{task.attempt} cpu ~{task.cpu}"
    echo "err line" >&2
    exit 1
  >>>

  requirements {
    container: "debian:bookworm-slim"
    cpu: 1
    return_codes: [0, 1]
    max_retries: 1
  }

  output {
    Array[String] out = read_lines(stdout())
    String err = read_string(stderr())
    Int rc = task.return_code
  }
}
