# Output collection as cwltool does it: files with size and checksum, secondary files, a
# Directory with its listing, loadContents, outputEval with runtime.exitCode, a glob that keeps
# cwltool's order, an optional output that is missing.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  InlineJavascriptRequirement: {}
  ShellCommandRequirement: {}
successCodes: [0, 3]
arguments:
  - valueFrom: >
      mkdir -p d/sub && printf 'x' > d/a.txt && printf 'yy' > d/sub/b.txt &&
      printf 'main' > main.dat && printf 'idx' > main.dat.idx && printf 'more' > main.extra &&
      for n in b10 a2 B1 a10; do echo $n > $n.part; done && printf '42\n' > n.txt && exit 3
    shellQuote: false
inputs: []
outputs:
  main:
    type: File
    outputBinding: {glob: main.dat}
    secondaryFiles: [.idx, ^.extra, {pattern: .none, required: false}]
  dir:
    type: Directory
    outputBinding: {glob: d, loadListing: deep_listing}
  n:
    type: int
    outputBinding: {glob: n.txt, loadContents: true, outputEval: "$(parseInt(self[0].contents))"}
  contents:
    type: File
    outputBinding: {glob: n.txt, loadContents: true}
  parts:
    type: File[]
    outputBinding: {glob: "*.part"}
  code:
    type: int
    outputBinding: {outputEval: $(runtime.exitCode)}
  absent:
    type: File?
    outputBinding: {glob: nothing-here}
