version 1.2

# A small multi-step workflow: split a text into chunks (a Directory and an Array[File]),
# count each chunk in its own task (scatter, busybox), then gather the counts with the chunk
# directory (Debian). Files and a Directory pass between steps.
workflow scatter_gather {
  input {
    File text
    Int lines_per_chunk = 2
  }

  call split { input: text = text, lines = lines_per_chunk }

  scatter (chunk in split.parts) {
    call count { input: chunk = chunk }
  }

  call gather { input: counts = count.words, chunks = split.chunks }

  output {
    Int total_words = gather.total
    Int chunk_count = gather.n_chunks
    File report = gather.report
    Directory chunks = split.chunks
  }
}

task split {
  input {
    File text
    Int lines
  }
  command <<<
    set -eu
    mkdir chunks
    n=0
    while IFS= read -r line || [ -n "$line" ]; do
      printf '%s\n' "$line" >> "chunks/part-$(printf '%03d' $((n / ~{lines}))).txt"
      n=$((n + 1))
    done < '~{text}'
  >>>
  output {
    Directory chunks = "chunks"
    Array[File] parts = glob("chunks/*.txt")
  }
  requirements {
    container: "debian:bookworm-slim"
  }
}

task count {
  input {
    File chunk
  }
  command <<<
    wc -w < '~{chunk}' | tr -d ' ' > words.txt
  >>>
  output {
    File words = "words.txt"
  }
  requirements {
    container: "busybox:latest"
  }
}

task gather {
  input {
    Array[File] counts
    Directory chunks
  }
  command <<<
    set -eu
    cat ~{sep=" " squote(counts)} | awk '{ s += $1 } END { print s }' > total.txt
    ls '~{chunks}' | wc -l | tr -d ' ' > n.txt
    for f in '~{chunks}'/*; do printf '%s\t%s\n' "$(basename "$f")" "$(wc -w < "$f")"; done > report.tsv
  >>>
  output {
    Int total = read_int("total.txt")
    Int n_chunks = read_int("n.txt")
    File report = "report.tsv"
  }
  requirements {
    container: "debian:bookworm-slim"
  }
}
