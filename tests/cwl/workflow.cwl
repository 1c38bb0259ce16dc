# Workflows run through cwltool's own engine, each CommandLineTool step as a compiled script.
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  words: string[]
outputs:
  counts:
    type: int[]
    outputSource: count/n
steps:
  echo:
    run:
      class: CommandLineTool
      baseCommand: echo
      inputs: {word: {type: string, inputBinding: {}}}
      stdout: word.txt
      outputs: {out: stdout}
    scatter: word
    in: {word: words}
    out: [out]
  count:
    run:
      class: CommandLineTool
      requirements: {InlineJavascriptRequirement: {}}
      baseCommand: [wc, -c]
      stdin: $(inputs.f.path)
      inputs: {f: File}
      stdout: n.txt
      outputs:
        n: {type: int, outputBinding: {glob: n.txt, loadContents: true, outputEval: "$(parseInt(self[0].contents))"}}
    scatter: f
    in: {f: echo/out}
    out: [n]
