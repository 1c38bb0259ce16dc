version 1.0

# bench/overhead: 24 trivial tasks in busybox:latest, scattered.
workflow scatter24 {
  input {
    Int n = 24
  }
  scatter (i in range(n)) {
    call trivial { input: i = i }
  }
  output {
    Array[File] outs = trivial.out
  }
}

task trivial {
  input {
    Int i
  }
  command <<<
    echo "hello ~{i}" > out.txt
  >>>
  output {
    File out = "out.txt"
  }
  runtime {
    docker: "busybox:latest"
  }
}
