# File literals (contents in the job object), a Directory literal holding a literal and a real
# file, and a Directory input with its listing.
cwlVersion: v1.2
class: CommandLineTool
inputs:
  note: File
  bundle: Directory
  real_dir:
    type: Directory
    loadListing: deep_listing
baseCommand: [cat]
arguments:
  - $(inputs.note.path)
  - $(inputs.bundle.path)/inner.txt
  - $(inputs.bundle.path)/copied.txt
  - $(inputs.real_dir.path)/sub/deep.txt
stdout: all.txt
outputs:
  all: stdout
