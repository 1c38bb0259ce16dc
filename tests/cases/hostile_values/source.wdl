version 1.1

task hostile_values {
  input {
    String quote = "it's \"quoted\" $(touch /tmp/pwned) `id` \\ %s %%"
    String multiline = "line1\nWF_COMMAND\nWF_DATA\nline4"
    File weird
  }

  command <<<
    cat ~{write_lines([quote])} > q.txt
    cat ~{write_lines([multiline])} > m.txt
    cp ~{sep=" " squote([weird])} copy.txt
    echo 'WF_COMMAND'
  >>>

  output {
    String q = read_string("q.txt")
    Array[String] m = read_lines("m.txt")
    File copy = "copy.txt"
  }
}
