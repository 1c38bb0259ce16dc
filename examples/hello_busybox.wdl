version 1.0

# A task for a tiny image without bash: the command runs under busybox sh. Inputs through
# write_lines() become a file the script itself creates.
task hello_busybox {
  input {
    Array[String] names = ["Ada", "Grace", "Barbara"]
    Pair[String, Int] greeting = ("Hello", 2)
  }

  command <<<
    while read -r name; do
      i=0
      while [ "$i" -lt ~{greeting.right} ]; do
        echo "~{greeting.left}, $name!"
        i=$((i + 1))
      done
    done < ~{write_lines(names)}
  >>>

  output {
    Array[String] greetings = read_lines(stdout())
    Int count = length(greetings)
  }

  runtime {
    docker: "busybox:latest"
  }
}
