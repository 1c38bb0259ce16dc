cwlVersion: v1.2
class: Workflow
doc: |
  The CWL twin of ../scatter_gather.wdl: split a text into chunks (a Directory and a File[]),
  count each chunk in its own step (scatter, busybox), gather the counts with the directory.
requirements:
  ScatterFeatureRequirement: {}
inputs:
  text: File
  lines_per_chunk:
    type: int
    default: 2
steps:
  split:
    run: split.cwl
    in: {text: text, lines: lines_per_chunk}
    out: [chunks, parts]
  count:
    run: count.cwl
    scatter: chunk
    in: {chunk: split/parts}
    out: [words]
  gather:
    run: gather.cwl
    in: {counts: count/words, chunks: split/chunks}
    out: [total, n_chunks, report]
outputs:
  total_words: {type: int, outputSource: gather/total}
  chunk_count: {type: int, outputSource: gather/n_chunks}
  report: {type: File, outputSource: gather/report}
  chunks: {type: Directory, outputSource: split/chunks}
