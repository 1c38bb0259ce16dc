version 1.2

struct Sample {
  String name
  File reads
  Map[String, String] tags
}

task input_types {
  input {
    File ref
    Directory ref_dir
    Array[File]+ reads
    File? missing_optional
    Sample sample
    Map[String, File] by_name
    Pair[File, String] labelled
    Int threads = 2
    String prefix = sample.name + "_out"
  }
  String private_note = "threads=~{threads}"

  command <<<
    set -e
    ls '~{ref_dir}' > listing.txt
    cat ~{sep=" " squote(reads)} > all.fq
    echo '~{private_note}' '~{if defined(missing_optional) then "has" else "no"} optional'
    echo '~{sample.name}: ~{sample.tags["lane"]}' > '~{prefix}.txt'
    cat '~{by_name["meta"]}' '~{labelled.left}' > pair.txt
    mkdir -p results/deep && cp all.fq results/deep/
  >>>

  output {
    File listing = "listing.txt"
    File named = "~{prefix}.txt"
    Array[File] fqs = glob("*.fq")
    Directory results = "results"
    String note = read_string(stdout())
    Int nreads = length(read_lines("all.fq"))
  }

  runtime {
    docker: "ubuntu:22.04"
  }
}
