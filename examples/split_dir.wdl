version 1.2

# Split a text into chunks of N lines; the chunks come back as one Directory output, and a
# struct describes the result.
struct Chunking {
  String name
  Int chunks
  Map[String, Int] lines_per_chunk
}

task split_dir {
  input {
    File text
    Int lines = 2
    String prefix = "part"
  }

  command <<<
    set -eu
    mkdir chunks
    i=0
    n=0
    while IFS= read -r line || [ -n "$line" ]; do
      f=chunks/~{prefix}-$(printf '%03d' $((n / ~{lines}))).txt
      printf '%s\n' "$line" >> "$f"
      n=$((n + 1))
    done < '~{text}'
    for f in chunks/*; do
      printf '%s\t%s\n' "$(basename "$f")" "$(wc -l < "$f")"
    done > lines.tsv
  >>>

  output {
    Directory chunks = "chunks"
    Array[File] parts = glob("chunks/*.txt")
    Chunking summary = Chunking {
      name: basename(text),
      chunks: length(parts),
      lines_per_chunk: read_map("lines.tsv")
    }
  }

  requirements {
    container: "debian:bookworm-slim"
  }
}
