cwlVersion: v1.2
class: CommandLineTool
requirements:
  ToolTimeLimit: {timelimit: 1}
baseCommand: [sleep, "30"]
inputs: []
outputs: []
