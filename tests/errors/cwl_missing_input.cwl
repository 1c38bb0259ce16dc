cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs:
  message: string
  count: int  # error: Missing required input parameter 'count'
outputs: []
