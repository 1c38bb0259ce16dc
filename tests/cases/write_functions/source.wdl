version 1.1

task write_functions {
  input {
    Array[String] lines = ["one", "two %s", "three \\n"]
    Map[String, Int] counts = {"x": 1, "y": 2}
    Array[Array[String]] table = [["a", "b"], ["c", "d"]]
  }

  command <<<
    cat ~{write_lines(lines)} > lines.txt
    cat ~{write_json(counts)} > counts.json
    cat ~{write_tsv(table)} > table.tsv
    cat ~{write_map(counts)} > map.tsv
  >>>

  output {
    Array[String] lines_back = read_lines("lines.txt")
    Map[String, Int] counts_back = read_json("counts.json")
    Array[Array[String]] table_back = read_tsv("table.tsv")
    File map_file = "map.tsv"
  }
}
