cwlVersion: v1.0
class: CommandLineTool
baseCommand: [cat]
inputs:
  text: {type: File, inputBinding: {}}
stdout: copy.txt
outputs:
  copy: {type: File, outputBinding: {glob: copy.txt}}
