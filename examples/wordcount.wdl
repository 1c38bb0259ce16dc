version 1.1

# Count lines and words in several text files; one summary table plus the grand total.
task wordcount {
  input {
    Array[File]+ texts
    String label = "corpus"
    Boolean ignore_case = true
  }

  command <<<
    set -eu
    for f in ~{sep=" " squote(texts)}; do
      printf '%s\t%s\t%s\n' "$(basename "$f")" "$(wc -l < "$f")" "$(wc -w < "$f")"
    done > '~{label}.counts.tsv'
    awk -F '\t' '{ w += $3 } END { print w }' '~{label}.counts.tsv' > total.txt
    cat ~{sep=" " squote(texts)} | tr -cs '[:alpha:]' '\n' ~{if ignore_case then "| tr '[:upper:]' '[:lower:]'" else ""} \
      | sort | uniq -c | sort -k1,1nr -k2 | head -n 5 > top5.txt
  >>>

  output {
    File counts = "~{label}.counts.tsv"
    Int total_words = read_int("total.txt")
    Array[String] top5 = read_lines("top5.txt")
  }

  runtime {
    container: "ubuntu:22.04"
    cpu: 1
    memory: "256 MiB"
  }
}
