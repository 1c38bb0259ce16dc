cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement:
    dockerFile: "FROM debian:stable-slim"  # error: unsupported: CWL DockerRequirement.dockerFile
    dockerImageId: mine
baseCommand: echo
inputs: []
outputs: []
