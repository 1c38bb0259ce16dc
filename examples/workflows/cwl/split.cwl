cwlVersion: v1.2
class: CommandLineTool
doc: Split a text into chunks of N lines (a Directory, and the chunks as an array of Files).
requirements:
  ShellCommandRequirement: {}
  DockerRequirement:
    dockerPull: debian:bookworm-slim
inputs:
  text: File
  lines:
    type: int
    default: 2
arguments:
  - shellQuote: false
    valueFrom: |
      mkdir chunks && awk -v n=$(inputs.lines) '{ print > sprintf("chunks/part-%03d.txt", int((NR - 1) / n)) }' '$(inputs.text.path)'
outputs:
  chunks:
    type: Directory
    outputBinding: {glob: chunks}
  parts:
    type: File[]
    outputBinding: {glob: "chunks/*.txt"}
