#include "core/yaml.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>

#include "core/strings.h"

namespace drover {
namespace {

constexpr int kMaxDepth = 256;
constexpr size_t kMaxNodes = 200'000;

// A JSON pointer reference token: '~' and '/' escaped (RFC 6901).
std::string PointerToken(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "0", "1", "0.25": bounds as a reader wrote them, not "0.000000".
std::string FormatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

std::string JoinChoices(std::span<const std::string_view> words, std::string_view last) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? std::string(last) : ", ";
    out += words[i];
  }
  return out;
}

}  // namespace

// Copies yaml-cpp's node graph into the document's JSON and mark table.
class YamlBuilder {
 public:
  YamlBuilder(YamlDocument& doc, std::string_view text) : doc_(doc), text_(text) {}

  YamlMark MarkOf(const YAML::Mark& mark) const {
    if (mark.is_null()) return {doc_.first_line_, 0};
    return {doc_.first_line_ + mark.line, mark.column};
  }

  // yaml-cpp marks an empty value where the next token starts, often lines later; a reader
  // sees it on the line of the indicator before it (`-`, `:`), the last line before the mark
  // with something on it other than a comment.
  YamlMark EmptyValueMark(const YAML::Mark& mark) const {
    if (mark.is_null() || mark.pos < 0 || static_cast<size_t>(mark.pos) > text_.size()) {
      return MarkOf(mark);
    }
    std::string_view rest = text_.substr(static_cast<size_t>(mark.pos));
    for (std::string_view word : {"~", "null", "Null", "NULL"}) {
      if (rest.starts_with(word)) return MarkOf(mark);  // Written out, so it has its own place.
    }
    size_t end = static_cast<size_t>(mark.pos);
    for (int line = mark.line; line >= 0; --line) {
      size_t begin = end == 0 ? 0 : text_.rfind('\n', end - 1);
      begin = begin == std::string_view::npos || end == 0 ? 0 : begin + 1;
      std::string_view content = text_.substr(begin, end - begin);
      for (size_t i = 0; i < content.size(); ++i) {
        if (content[i] == '#' && (i == 0 || content[i - 1] == ' ' || content[i - 1] == '\t')) {
          content = content.substr(0, i);
          break;
        }
      }
      if (!Trim(content).empty())
        return {doc_.first_line_ + line, static_cast<int>(content.size())};
      if (begin == 0) break;
      end = begin - 1;
    }
    return MarkOf(mark);
  }

  std::unexpected<Error> FailAt(const YAML::Mark& mark, const std::string& path,
                                std::string_view message) const {
    std::string text = doc_.file_name_ + ":" + std::to_string(MarkOf(mark).line) + ": ";
    if (!path.empty()) text += path + ": ";
    return Fail(ErrorCode::kInvalidArgument, text + std::string(message));
  }

  Status Build(const YAML::Node& node, YamlJson& out, const std::string& pointer,
               const std::string& path, int depth) {
    if (depth > kMaxDepth) {
      return FailAt(node.Mark(), path,
                    "nested more than " + std::to_string(kMaxDepth) + " levels deep");
    }
    if (++nodes_ > kMaxNodes) {
      return FailAt(node.Mark(), path,
                    "more than " + std::to_string(kMaxNodes) + " values (aliases included)");
    }
    doc_.marks_[pointer].node = node.IsNull() ? EmptyValueMark(node.Mark()) : MarkOf(node.Mark());
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: out = nullptr; return {};
      case YAML::NodeType::Scalar: out = node.Scalar(); return {};
      case YAML::NodeType::Sequence: {
        out = YamlJson::array();
        size_t index = 0;
        for (const YAML::Node& item : node) {
          std::string at = std::to_string(index++);
          YamlJson value;
          if (auto ok = Build(item, value, pointer + "/" + at, path + "[" + at + "]", depth + 1);
              !ok) {
            return ok;
          }
          out.push_back(std::move(value));
        }
        return {};
      }
      case YAML::NodeType::Map: {
        out = YamlJson::object();
        for (const auto& entry : node) {
          const YAML::Node& key = entry.first;
          if (!key.IsScalar()) return FailAt(key.Mark(), path, "field names must be plain words");
          const std::string& name = key.Scalar();
          std::string member_path = path.empty() ? name : path + "." + name;
          if (out.contains(name)) return FailAt(key.Mark(), member_path, "appears twice");
          std::string member_pointer = pointer + "/" + PointerToken(name);
          YamlJson value;
          if (auto ok = Build(entry.second, value, member_pointer, member_path, depth + 1); !ok) {
            return ok;
          }
          doc_.marks_[member_pointer].key = MarkOf(key.Mark());
          out[name] = std::move(value);
        }
        return {};
      }
    }
    return {};
  }

  static Result<YamlDocument> Parse(std::string_view text, std::string_view file_name,
                                    int first_line) {
    YamlDocument doc;
    doc.file_name_ = std::string(file_name);
    doc.first_line_ = first_line;
    YamlBuilder builder(doc, text);
    // yaml-cpp reports malformed YAML (and its own depth limit) by throwing; it stops here.
    try {
      YAML::Node root = YAML::Load(std::string(text));
      if (auto ok = builder.Build(root, doc.root_, "", "", 0); !ok) return Fail(ok.error());
    } catch (const YAML::Exception& e) {
      return Fail(ErrorCode::kParse, doc.file_name_ + ":" +
                                         std::to_string(builder.MarkOf(e.mark).line) +
                                         ": invalid YAML: " + e.msg);
    } catch (const std::exception& e) {
      return Fail(ErrorCode::kParse, doc.file_name_ + ":" + std::to_string(first_line) +
                                         ": invalid YAML: " + e.what());
    }
    return doc;
  }

 private:
  YamlDocument& doc_;
  std::string_view text_;
  size_t nodes_ = 0;
};

YamlNode YamlDocument::Root() const {
  return YamlNode(this, &root_, "", "");
}

Result<YamlDocument> ParseYaml(std::string_view text, std::string_view file_name, int first_line) {
  return YamlBuilder::Parse(text, file_name, first_line);
}

namespace {

void Emit(const YamlJson& value, YAML::Emitter& out) {
  switch (value.type()) {
    case YamlJson::value_t::null: out << YAML::Null; return;
    case YamlJson::value_t::string: out << value.get_ref<const std::string&>(); return;
    case YamlJson::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : value) Emit(item, out);
      out << YAML::EndSeq;
      return;
    case YamlJson::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key << key << YAML::Value;
        Emit(item, out);
      }
      out << YAML::EndMap;
      return;
    default: out << value.dump(); return;
  }
}

}  // namespace

std::string WriteYaml(const YamlJson& value) {
  YAML::Emitter out;
  Emit(value, out);
  return out.c_str();
}

Result<FrontMatter> SplitFrontMatter(std::string_view text, std::string_view file_name) {
  auto fail = [&](std::string_view message) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(file_name) + ":1: " + std::string(message));
  };
  size_t offset = 0;
  if (text.starts_with("\xEF\xBB\xBF")) offset = 3;
  auto line_end = [&](size_t from) {
    size_t nl = text.find('\n', from);
    return nl == std::string_view::npos ? text.size() : nl;
  };
  // A fence line: "---" (or "..." to close), with CR and trailing blanks allowed.
  auto fence_at = [&](size_t from) {
    std::string_view line = text.substr(from, line_end(from) - from);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    return line;
  };
  if (fence_at(offset) != "---") {
    return fail(
        "expected YAML front matter: the file must start with a line \"---\", then the fields, "
        "then another \"---\" line, then the instructions");
  }
  FrontMatter out;
  out.yaml_begin = std::min(line_end(offset) + 1, text.size());
  out.yaml_line = 2;
  int line_number = 2;
  for (size_t pos = out.yaml_begin; pos < text.size(); pos = line_end(pos) + 1, ++line_number) {
    std::string_view fence = fence_at(pos);
    if (fence == "---" || fence == "...") {
      out.yaml = text.substr(out.yaml_begin, pos - out.yaml_begin);
      out.body_begin = std::min(line_end(pos) + 1, text.size());
      out.body = text.substr(out.body_begin);
      out.body_line = line_number + 1;
      return out;
    }
  }
  return fail("the front matter is not closed: no \"---\" line after the first one");
}

int YamlNode::line() const {
  auto it = doc_->marks_.find(pointer_);
  if (it == doc_->marks_.end()) return doc_->first_line_;
  return it->second.key ? it->second.key->line : it->second.node.line;
}

YamlMark YamlNode::mark() const {
  auto it = doc_->marks_.find(pointer_);
  return it == doc_->marks_.end() ? YamlMark{doc_->first_line_, 0} : it->second.node;
}

const std::string& YamlNode::Text() const {
  static const std::string kEmpty;
  return value_->is_string() ? value_->get_ref<const std::string&>() : kEmpty;
}

std::string YamlNode::Describe() const {
  switch (value_->type()) {
    case YamlJson::value_t::null: return "nothing";
    case YamlJson::value_t::string: return "\"" + Text() + "\"";
    case YamlJson::value_t::array: return "a list";
    case YamlJson::value_t::object: return "a mapping";
    default: return value_->dump();
  }
}

YamlNode YamlNode::Member(const std::string& key, const YamlJson& value) const {
  return YamlNode(doc_, &value, pointer_ + "/" + PointerToken(key),
                  path_.empty() ? key : path_ + "." + key);
}

YamlNode YamlNode::Item(size_t index, const YamlJson& value) const {
  std::string at = std::to_string(index);
  return YamlNode(doc_, &value, pointer_ + "/" + at, path_ + "[" + at + "]");
}

std::optional<YamlNode> YamlNode::Find(std::string_view key) const {
  if (!IsMap()) return std::nullopt;
  auto it = value_->find(key);
  if (it == value_->end()) return std::nullopt;
  return Member(std::string(key), *it);
}

std::optional<YamlNode> YamlNode::Get(std::string_view key) const {
  auto node = Find(key);
  if (!node || node->IsNull()) return std::nullopt;
  return node;
}

std::vector<YamlNode> YamlNode::Items() const {
  std::vector<YamlNode> out;
  if (!IsList()) return out;
  for (size_t i = 0; i < value_->size(); ++i) out.push_back(Item(i, (*value_)[i]));
  return out;
}

std::vector<std::pair<std::string, YamlNode>> YamlNode::Members() const {
  std::vector<std::pair<std::string, YamlNode>> out;
  if (!IsMap()) return out;
  for (const auto& [key, value] : value_->items()) out.emplace_back(key, Member(key, value));
  return out;
}

std::unexpected<Error> YamlNode::FailAtLine(int line, std::string_view path,
                                            std::string_view message) const {
  std::string text = file_name() + ":" + std::to_string(line) + ": ";
  if (!path.empty()) text += std::string(path) + ": ";
  return drover::Fail(ErrorCode::kInvalidArgument, text + std::string(message));
}

std::unexpected<Error> YamlNode::Fail(std::string_view message) const {
  return FailAtLine(line(), path_, message);
}

std::unexpected<Error> YamlNode::FailField(std::string_view key, std::string_view message) const {
  std::string field = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  return FailAtLine(line(), field, message);
}

Status YamlNode::CheckFields(std::span<const std::string_view> known) const {
  if (IsNull()) return {};
  if (!IsMap()) return Fail("expected a mapping, got " + Describe());
  for (const auto& [name, value] : Members()) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string message = "unknown field (known: " + JoinChoices(known, ", ") + ")";
    std::string_view best;
    size_t best_distance = SIZE_MAX;
    for (std::string_view candidate : known) {
      size_t distance = EditDistance(name, candidate);
      if (distance < best_distance) {
        best_distance = distance;
        best = candidate;
      }
    }
    if (best_distance <= 2 && best_distance < name.size()) {
      message += "; did you mean '" + std::string(best) + "'?";
    }
    return value.Fail(message);
  }
  return {};
}

Result<YamlNode> YamlNode::Require(std::string_view key) const {
  if (auto node = Find(key)) return *node;
  return Fail("missing field '" + std::string(key) + "'");
}

Result<std::string> YamlNode::ReadText() const {
  if (!IsText()) return Fail("expected text, got " + Describe());
  std::string value(Trim(Text()));
  if (value.empty()) return Fail("must not be empty");
  return value;
}

Result<bool> YamlNode::ReadBool() const {
  bool value = false;
  // yaml-cpp's own reading of a boolean scalar, so every file spells them the same way.
  if (!IsText() || !YAML::convert<bool>::decode(YAML::Node(Text()), value)) {
    return Fail("expected true or false, got " + Describe());
  }
  return value;
}

Result<int64_t> YamlNode::ReadInteger(int64_t min, int64_t max, std::string_view expected) const {
  std::string words(expected);
  if (words.empty()) {
    words = min == 1   ? "a positive integer"
            : min == 0 ? "a non-negative integer"
                       : "an integer of at least " + std::to_string(min);
  }
  std::string_view text = Trim(Text());
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!IsText() || text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      value < min) {
    return Fail("expected " + words + ", got " + Describe());
  }
  if (value > max) {
    return Fail("must be at most " + std::to_string(max) + ", got " + std::string(text));
  }
  return value;
}

Result<double> YamlNode::ReadNumber(double min, double max, std::string_view expected) const {
  std::string words(expected);
  if (words.empty()) {
    words = std::isinf(max) ? "a number of at least " + FormatNumber(min)
                            : "a number from " + FormatNumber(min) + " to " + FormatNumber(max);
  }
  std::string_view text = Trim(Text());
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!IsText() || text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value) || value < min || value > max) {
    return Fail("expected " + words + ", got " + Describe());
  }
  return value;
}

Result<std::string> YamlNode::ReadChoice(std::span<const std::string_view> choices) const {
  std::string text(Trim(Text()));
  if (!IsText() || std::find(choices.begin(), choices.end(), text) == choices.end()) {
    return Fail("expected " + JoinChoices(choices, " or ") + ", got " + Describe());
  }
  return text;
}

Result<std::vector<std::string>> YamlNode::ReadTextList() const {
  std::vector<std::string> out;
  if (IsNull()) return out;
  if (!IsList()) return Fail("expected a list, got " + Describe());
  for (const YamlNode& item : Items()) {
    auto text = item.ReadText();
    if (!text) return std::unexpected(text.error());
    out.push_back(std::move(*text));
  }
  return out;
}

}  // namespace drover
