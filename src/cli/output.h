// How varg talks to people: one-line errors on stderr, credits in the seed's format, tables, JSON.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cli/context.h"

namespace varg::cli {

// Prints a one-line error that says what to do next; returns the exit status for it (1).
int fail(const Error& error);
int fail(const std::string& message);

void print_json(const json& value);

// 12345 -> "12,345 credits ($123.45)"
std::string credits_text(int64_t cents);
// 12345 -> "12,345"
std::string grouped(int64_t n);

// A JSON field as display text: strings as is, null or missing as the fallback, others dumped.
std::string field_text(const json& object, const std::string& name, const std::string& fallback = "-");

// Left-aligned columns, widths in characters (UTF-8 aware).
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

bool stdin_is_terminal();
bool stderr_is_terminal();
bool stdout_is_terminal();

}  // namespace varg::cli
