cwlVersion: v1.2
class: CommandLineTool
requirements:
  InplaceUpdateRequirement:
    inplaceUpdate: true  # error: unsupported: CWL InplaceUpdateRequirement
baseCommand: echo
inputs: []
outputs: []
