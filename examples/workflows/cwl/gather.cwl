cwlVersion: v1.2
class: CommandLineTool
doc: Sum the counts, and list the chunk directory with each chunk's words.
requirements:
  ShellCommandRequirement: {}
  InlineJavascriptRequirement: {}
  DockerRequirement:
    dockerPull: debian:bookworm-slim
inputs:
  counts: File[]
  chunks: Directory
arguments:
  - shellQuote: false
    valueFrom: |
      cat $(inputs.counts.map(function(f) { return "'" + f.path + "'"; }).join(" ")) | awk '{ s += $1 } END { print s }' > total.txt &&
      ls '$(inputs.chunks.path)' | wc -l > n.txt &&
      for f in '$(inputs.chunks.path)'/*; do printf '%s\t%s\n' "\$(basename "$f")" "\$(wc -w < "$f")"; done > report.tsv
outputs:
  total:
    type: int
    outputBinding:
      glob: total.txt
      loadContents: true
      outputEval: $(parseInt(self[0].contents))
  n_chunks:
    type: int
    outputBinding:
      glob: n.txt
      loadContents: true
      outputEval: $(parseInt(self[0].contents))
  report:
    type: File
    outputBinding: {glob: report.tsv}
