cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs:
  message:
    type: string
    inputBinding: {position: 1, prefx: "-m"}  # error: invalid field 'prefx'
outputs: []
