cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs:
  message:
    type: strng  # error: references unknown identifier 'strng'
outputs: []
