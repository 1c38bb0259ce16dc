cwlVersion: v1.2  # error: cwltool could not read this document
# inputs must be a list or a map: cwltool reads this one before schema-salad validates it
class: CommandLineTool
baseCommand: echo
inputs: 3
outputs: []
