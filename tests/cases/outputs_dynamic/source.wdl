version 1.1

task outputs_dynamic {
  input {
    String base = "report"
  }

  command <<<
    echo "~{base}.final.txt" > which.txt
    echo done > "~{base}.final.txt"
    touch a.log b.log .hidden.log
    mkdir sub && touch sub/c.log
  >>>

  output {
    File chosen = read_string("which.txt")
    Array[File] logs = glob("*.log")
    File? absent = "not-there.txt"
    Array[File] nested = glob("sub/*.log")
  }
}
