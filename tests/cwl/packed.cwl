cwlVersion: v1.2
$graph:
  - id: main
    class: CommandLineTool
    baseCommand: [echo, main]
    inputs: []
    outputs:
      out: stdout
    stdout: main.txt
  - id: other
    class: CommandLineTool
    baseCommand: [echo]
    inputs:
      word: {type: string, default: other, inputBinding: {}}
    outputs:
      out: stdout
    stdout: other.txt
