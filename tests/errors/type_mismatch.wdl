version 1.1

task type_mismatch {
  input {
    Int n = "three"  # error: coercing String to Int
  }
  command <<< echo ~{n} >>>
}
