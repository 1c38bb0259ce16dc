# A symlink that resolves outside the output directory is not an output.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ShellCommandRequirement: {}
arguments:
  - {valueFrom: "echo secret > $TMPDIR/x.txt && ln -s $TMPDIR/x.txt link.txt", shellQuote: false}
inputs: []
outputs:
  link: {type: File, outputBinding: {glob: link.txt}}
