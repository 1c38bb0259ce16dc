version 1.0

task unknown_type {
  input {
    Flie reads  # error: Unknown type Flie
  }
  command <<< echo >>>
}
