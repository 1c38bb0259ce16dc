version 1.0

task fails_on_purpose {
  command <<<
    echo "about to fail" >&2
    exit 7
  >>>

  output {
    File never = "never.txt"
  }
}
