# InitialWorkDirRequirement: a file from the job staged under a new name, a writable copy, a
# file created from an expression, a JSON dump (CWL v1.2) and an empty writable directory.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  InlineJavascriptRequirement: {}
  InitialWorkDirRequirement:
    listing:
      - entryname: renamed.txt
        entry: $(inputs.src)
      - entryname: editable.txt
        entry: $(inputs.notes)
        writable: true
      - entryname: config.ini
        entry: |
          [run]
          name=$(inputs.name)
          percent=100%
      - entryname: params.json
        entry: $(inputs.params)
      - entry: "$({class: 'Directory', basename: 'scratch', listing: []})"
        writable: true
inputs:
  src: File
  notes: File
  name:
    type: string
    default: "x\\y"
  params:
    type:
      type: record
      fields:
        a: int
        b: string[]
baseCommand: [sh, -c]
arguments:
  - 'echo more >> editable.txt && cat renamed.txt config.ini params.json > all.txt && touch scratch/mark'
outputs:
  all:
    type: File
    outputBinding:
      glob: all.txt
  edited:
    type: File
    outputBinding:
      glob: editable.txt
  scratch:
    type: Directory
    outputBinding:
      glob: scratch
