# secondaryFiles: patterns with and without '^', one optional and missing, one by expression;
# staged beside their primary file. Outputs carry secondary files too.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  InlineJavascriptRequirement: {}
inputs:
  reads:
    type: File
    secondaryFiles:
      - .bai
      - pattern: ^.stats
        required: false
      - pattern: ^.missing
        required: false
      - $(self.nameroot + ".md5")
    inputBinding:
      position: 1
baseCommand: [sh, -c, 'for f in "$1" "$1".bai; do cat "$f"; done > out.bam && cp "$1".bai out.bam.bai', sh]
outputs:
  out:
    type: File
    outputBinding:
      glob: out.bam
    secondaryFiles:
      - .bai
