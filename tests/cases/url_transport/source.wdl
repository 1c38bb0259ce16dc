version 1.0

# The task of wfrewrite.compiler.plan.ir's docstring, bound to the url transport (transport.json):
# nothing mounted, the input fetched over HTTP, the output and the manifest sent back by PUT.
task hello {
  input {
    File names
  }

  command <<<
    wc -l < ~{names} > n.txt
  >>>

  output {
    Int n = read_int("n.txt")
  }

  runtime {
    container: "busybox:latest"
  }
}
