version 1.1

task unknown_identifier {
  command <<<
    echo ~{sample_name}  # error: Unknown identifier sample_name
  >>>
}
