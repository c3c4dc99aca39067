// The answers page: what a study's measured rows say about the four questions its users
// come with (docs/report.md, "Answers"). Each answer is one sentence and a small table,
// chosen from the Records only; every figure says whether it was measured or estimated.
#pragma once

#include <string>
#include <vector>

#include "frugal/explore/store.h"

namespace frugal::explore {

struct Answer {
  std::string id;        // "gpu", "compression", "pipeline", "training"
  std::string question;  // as the page asks it
  std::string sentence;  // the answer, or why these rows cannot give one
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // the last column says measured / estimated
};

// Top-1 points a configuration may lose against its model's best and still count as
// "as accurate" when the answers pick the fastest configuration.
inline constexpr double kAnswerAccuracyTolerance = 0.01;

// The four answers, in the page's order. Training points are the rows whose spec has a
// `train` object (sweep `train:` entries, docs/sweep.md).
std::vector<Answer> study_answers(const std::vector<RecordRow>& rows);

// The <section id="answers"> of report.html.
std::string render_answers_html(const std::vector<Answer>& answers);
// The same as plain text (question, sentence, table), for the terminal and the notes.
std::string render_answers_text(const std::vector<Answer>& answers);

}  // namespace frugal::explore
