# cwl.output.json overrides everything the outputs section says.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ShellCommandRequirement: {}
arguments:
  - valueFrom: >
      printf 'z' > z.txt &&
      printf '{"answer": 42, "file": {"class": "File", "path": "%s/z.txt"}}' "$PWD" > cwl.output.json
    shellQuote: false
inputs: []
outputs:
  answer: int
  file: File
