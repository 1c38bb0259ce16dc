#!/usr/bin/env cwl-runner
# An argv command (no shell in the image runs it): prefixes, arrays with and without an item
# separator, a hostile string, a File's path; a named stdout and stderr; outputs by glob with
# loadContents and outputEval, and one from the inputs only.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  InlineJavascriptRequirement: {}
  ToolTimeLimit:
    timelimit: 60
baseCommand: [printf, "%s|"]
inputs:
  text:
    type: File
    inputBinding:
      position: 4
  names:
    type: string[]
    inputBinding:
      position: 1
      prefix: --names
      itemSeparator: ","
  numbers:
    type: int[]
    default: [1, 2]
    inputBinding:
      position: 2
      prefix: -n
  label:
    type: string
    default: "it's $HOME; `rm -rf /` \"q\""
    inputBinding:
      position: 3
stdout: args.txt
stderr: err.txt
outputs:
  words:
    type: string[]
    outputBinding:
      glob: args.txt
      loadContents: true
      outputEval: $(self[0].contents.split("|").slice(0, -1))
  args: stdout
  label_back:
    type: string
    outputBinding:
      outputEval: $(inputs.label)
