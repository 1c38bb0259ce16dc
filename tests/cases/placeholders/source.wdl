version 1.0

task placeholders {
  input {
    Array[String] words = ["a", "b c", "d"]
    Boolean flag = true
    Int? maybe
    String? nothing
    Float ratio = 0.5
  }

  command {
    echo ${sep="," words}
    echo ~{true="--yes" false="--no" flag}
    echo ${default="7" maybe} ~{default="none" nothing}
    echo "ratio ${ratio} $HOME-ish ${"literal"}"
  }

  output {
    Array[String] lines = read_lines(stdout())
  }
}
