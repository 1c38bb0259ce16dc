cwlVersion: v1.2
class: Workflow
doc: bench/engines, the CWL twin of scatter24.wdl -- N trivial tasks in busybox:latest, scattered.
requirements:
  ScatterFeatureRequirement: {}
inputs:
  i: int[]
steps:
  trivial:
    run:
      class: CommandLineTool
      requirements:
        DockerRequirement:
          dockerPull: busybox:latest
      inputs:
        i: int
      baseCommand: echo
      arguments: [hello, $(inputs.i)]
      stdout: out.txt
      outputs:
        out:
          type: stdout
    scatter: i
    in: {i: i}
    out: [out]
outputs:
  outs:
    type: File[]
    outputSource: trivial/out
