version 1.0

task missing_output {
  command <<<
    echo "forgot to write the report"
  >>>

  output {
    File report = "report.txt"
  }
}
