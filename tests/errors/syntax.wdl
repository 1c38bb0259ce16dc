version 1.0

task syntax {
  command <<<
    echo hi
  >>>
  output {
    Int n = = 3  # error: Unexpected token
  }
}
