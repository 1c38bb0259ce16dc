cwlVersion: v1.2
class: CommandLineTool
doc: Count the words of one chunk.
requirements:
  DockerRequirement:
    dockerPull: busybox:latest
baseCommand: [wc, -w]
stdin: $(inputs.chunk.path)
stdout: words.txt
inputs:
  chunk: File
outputs:
  words:
    type: stdout
