# ShellCommandRequirement: pipes and redirections that are meant for the shell, quoted values that
# are not, and the environment (EnvVarRequirement, HOME and TMPDIR as the CWL spec sets them).
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ShellCommandRequirement: {}
  EnvVarRequirement:
    envDef:
      GREETING: "hello $USER; it's `date`"
      NUMBER: "n=$(inputs.n)"
inputs:
  n:
    type: int
    default: 3
  word:
    type: string
    default: "a b|c"
arguments:
  - printf
  - "%s\n"
  - $(inputs.word)
  - valueFrom: "| tr ' ' _ > word.txt &&"
    shellQuote: false
  - valueFrom: 'printf "%s|%s|%s\n" "$GREETING" "$NUMBER" "$HOME" > env.txt &&'
    shellQuote: false
  - valueFrom: 'test "$HOME" = "$(runtime.outdir)" && test "$TMPDIR" = "$(runtime.tmpdir)"'
    shellQuote: false
outputs:
  word_file:
    type: File
    outputBinding:
      glob: word.txt
  env_file:
    type: File
    outputBinding:
      glob: env.txt
