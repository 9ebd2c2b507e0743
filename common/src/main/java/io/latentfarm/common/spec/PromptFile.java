package io.latentfarm.common.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.latentfarm.common.Excerpt;
import io.latentfarm.common.validation.Limits;
import io.latentfarm.common.validation.RequestValidator;
import io.latentfarm.common.validation.Violation;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * A request's prompt file ({@code promptsUri}): one image spec per line, as JSON Lines
 * ({@code {"prompt": "...", "seed": 7, "count": 4}}), plain text (one prompt per line) or CSV with a
 * header naming the same fields ({@link PromptLine#FIELDS}; quoted fields per RFC 4180, which may
 * span lines). The format comes from the key's extension: {@code .jsonl}, {@code .txt}, {@code .csv}.
 * Blank lines are skipped.
 *
 * <p>Read as a stream in constant memory (a line holds at most {@link #MAX_LINE_BYTES}), twice: once
 * by {@link #validate} to check every line before anything renders, once by {@link #images} to
 * produce the image specs in index order, resumable from a {@link Cursor} so a coordinator can
 * continue after a restart.
 */
public final class PromptFile {
    /** The longest line (or CSV record) a prompt file may have, in bytes. */
    public static final int MAX_LINE_BYTES = 64 * 1024;
    /** Validation stops after this many violations. */
    public static final int MAX_VIOLATIONS = 20;

    private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    private PromptFile() {
    }

    /** How the lines are written. */
    public enum Format {
        JSONL(".jsonl"), TEXT(".txt"), CSV(".csv");

        private final String extension;

        Format(String extension) {
            this.extension = extension;
        }

        public String extension() {
            return extension;
        }

        /** The format a key's extension names; {@link IllegalArgumentException} naming the three otherwise. */
        public static Format of(String key) {
            for (Format f : values()) {
                if (key.endsWith(f.extension)) return f;
            }
            throw new IllegalArgumentException(Excerpt.quote(key) + " does not end in .jsonl, .txt or .csv");
        }
    }

    /** Where a prompt file is: {@code s3://bucket/key}. */
    public record Location(String bucket, String key, Format format) {
        public static Location parse(String uri) {
            String prefix = "s3://";
            if (uri == null || !uri.startsWith(prefix)) {
                throw new IllegalArgumentException(Excerpt.quote(uri) + " is not s3://bucket/key");
            }
            String rest = uri.substring(prefix.length());
            int slash = rest.indexOf('/');
            if (slash < 1 || slash == rest.length() - 1) {
                throw new IllegalArgumentException(Excerpt.quote(uri) + " is not s3://bucket/key");
            }
            String key = rest.substring(slash + 1);
            return new Location(rest.substring(0, slash), key, Format.of(key));
        }
    }

    /**
     * Where the next image is: the line it comes from (its number and its first byte) and which of the
     * line's images, and the image's index in the batch. {@link #START} is the first image.
     */
    public record Cursor(long line, long byteOffset, int imageInLine, long index) {
        public static final Cursor START = new Cursor(1, 0, 0, 0);
    }

    /** What {@link #validate} found: up to {@link #MAX_VIOLATIONS}, each {@code line N: field: message}. */
    public record Validation(List<String> violations, long images, long lines) {
        public boolean valid() {
            return violations.isEmpty();
        }
    }

    /** The image at index {@code index} and the cursor of the one after it. */
    public record Image(long index, ImageSpec spec, long lineNumber, Cursor next) {
    }

    /**
     * Reads the whole file once and checks every line against {@code validator}'s limits on top of
     * the request's spec {@code base}, then the total (image count, grid, seeds). Stops after
     * {@link #MAX_VIOLATIONS} violations or once the file passes {@code maxPromptFileBytes}.
     */
    public static Validation validate(InputStream in, Format format, RenderSpec base, RequestValidator validator) {
        Limits limits = validator.limits();
        List<String> out = new ArrayList<>();
        long images = 0;
        long lines = 0;
        Records opened;
        try {
            opened = new Records(in, format, 0, 1, limits.maxPromptFileBytes());
        } catch (LineException e) {
            return new Validation(List.of(e.getMessage()), 0, 0);
        }
        try (Records records = opened) {
            while (out.size() < MAX_VIOLATIONS) {
                Record record;
                try {
                    record = records.next();
                } catch (LineException e) {
                    out.add(e.getMessage());
                    if (e.fatal) break;
                    continue;
                }
                if (record == null) break;
                lines++;
                PromptLine line;
                try {
                    line = record.parse();
                } catch (LineException e) {
                    out.add(e.getMessage());
                    continue;
                }
                for (Violation v : validator.validate(line, base)) {
                    if (out.size() == MAX_VIOLATIONS) break;
                    out.add("line " + line.lineNumber() + ": " + v);
                }
                images += line.imageCount();
                if (images > limits.maxImages()) {
                    break;
                }
            }
        }
        if (out.size() < MAX_VIOLATIONS) {
            for (Violation v : validator.validateTotal(base, images)) {
                if (out.size() < MAX_VIOLATIONS) out.add(v.toString());
            }
        }
        return new Validation(List.copyOf(out), images, lines);
    }

    /**
     * The images of a validated file, in index order from {@code from}, each resolved on top of
     * {@code base} (with its seed) for a batch of {@code total} images ({@link Validation#images()}).
     * {@code in} reads the file from its first byte; the cursor's lines before it are skipped unread
     * (a CSV header is read first). Close the iterator to close the stream.
     */
    public static CloseableIterator<Image> images(InputStream in, Format format, RenderSpec base, long total,
                                                  Cursor from) {
        Records records = new Records(in, format, from.byteOffset(), from.line(), Long.MAX_VALUE);
        return new CloseableIterator<>() {
            PromptLine line;
            long lineStart;
            long nextLineNumber;
            long nextOffset;
            int j = from.imageInLine();
            long index = from.index();

            private void advance() {
                if (line != null) return;
                Record record = records.nextOrFail();
                if (record == null) return;
                line = record.parseOrFail();
                lineStart = record.startOffset;
                nextOffset = record.endOffset;
                nextLineNumber = record.nextLine;
                if (j >= line.imageCount()) {
                    throw new IllegalStateException("line " + line.lineNumber() + " has no image " + j);
                }
            }

            @Override
            public boolean hasNext() {
                advance();
                return line != null;
            }

            @Override
            public Image next() {
                if (!hasNext()) throw new NoSuchElementException();
                ImageSpec spec = line.image(j, base, index, total);
                long lineNumber = line.lineNumber();
                Image image;
                if (j + 1 < line.imageCount()) {
                    image = new Image(index, spec, lineNumber, new Cursor(lineNumber, lineStart, j + 1, index + 1));
                    j++;
                } else {
                    image = new Image(index, spec, lineNumber, new Cursor(nextLineNumber, nextOffset, 0, index + 1));
                    line = null;
                    j = 0;
                }
                index++;
                return image;
            }

            @Override
            public void close() {
                records.close();
            }
        };
    }

    /**
     * The file's lines in order, each with its line number and its overrides, as read (not checked
     * against limits: {@link #validate} does that). A line that cannot be read (not JSON, a field of
     * the wrong type, a bad CSV header) throws {@link IllegalArgumentException} with its
     * {@code line N: field: message}. Close the iterator to close the stream.
     */
    public static CloseableIterator<PromptLine> lines(InputStream in, Format format) {
        Records records;
        try {
            records = new Records(in, format, 0, 1, Long.MAX_VALUE);
        } catch (LineException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        return new CloseableIterator<>() {
            Record next;

            @Override
            public boolean hasNext() {
                try {
                    if (next == null) next = records.next();
                } catch (LineException e) {
                    throw new IllegalArgumentException(e.getMessage());
                }
                return next != null;
            }

            @Override
            public PromptLine next() {
                if (!hasNext()) throw new NoSuchElementException();
                Record record = next;
                next = null;
                try {
                    return record.parse();
                } catch (LineException e) {
                    throw new IllegalArgumentException(e.getMessage());
                }
            }

            @Override
            public void close() {
                records.close();
            }
        };
    }

    /** An iterator over a stream that must be closed. */
    public interface CloseableIterator<T> extends Iterator<T>, AutoCloseable {
        @Override
        void close();
    }

    // ------------------------------------------------------------------ reading

    /** A line's problem, already worded {@code line N: field: message}; fatal ones end the reading. */
    private static final class LineException extends RuntimeException {
        final boolean fatal;

        LineException(String message, boolean fatal) {
            super(message, null, false, false);
            this.fatal = fatal;
        }
    }

    /** One record's bytes: a line (or a CSV record over several lines), with where it starts and ends. */
    private static final class Record {
        final Format format;
        final List<String> header;
        final long lineNumber;
        final long startOffset;
        final long endOffset;
        final long nextLine;
        final String text;

        Record(Format format, List<String> header, long lineNumber, long startOffset, long endOffset, long nextLine,
               String text) {
            this.format = format;
            this.header = header;
            this.lineNumber = lineNumber;
            this.startOffset = startOffset;
            this.endOffset = endOffset;
            this.nextLine = nextLine;
            this.text = text;
        }

        PromptLine parse() {
            return switch (format) {
                case TEXT -> new PromptLine(lineNumber, text, null, null, null, null, null, null, null, null, null);
                case JSONL -> parseJson();
                case CSV -> parseCsv();
            };
        }

        PromptLine parseOrFail() {
            try {
                return parse();
            } catch (LineException e) {
                throw new IllegalStateException(e.getMessage() + " (the file changed since it was validated?)");
            }
        }

        private PromptLine parseJson() {
            JsonNode node;
            try {
                node = JSON.readTree(text);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw fail("line", "is not JSON: " + Excerpt.cut(e.getOriginalMessage(), 200));
            }
            if (node == null || !node.isObject()) {
                throw fail("line", "is not a JSON object");
            }
            for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!PromptLine.FIELDS.contains(name)) {
                    throw fail(name, "is not one of " + String.join(", ", PromptLine.FIELDS));
                }
            }
            return new PromptLine(lineNumber, text(node, "prompt"), text(node, "negativePrompt"),
                    integer(node, "seed", Long.MIN_VALUE, Long.MAX_VALUE), intValue(node, "steps"),
                    decimal(node, "guidance"), intValue(node, "width"), intValue(node, "height"),
                    text(node, "scheduler"), intValue(node, "count"), text(node, "id"));
        }

        private String text(JsonNode node, String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) return null;
            if (!v.isTextual()) throw fail(field, Excerpt.cut(v.toString(), 64) + " is not a string");
            return v.asText();
        }

        private Integer intValue(JsonNode node, String field) {
            Long v = integer(node, field, Integer.MIN_VALUE, Integer.MAX_VALUE);
            return v == null ? null : v.intValue();
        }

        private Long integer(JsonNode node, String field, long min, long max) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) return null;
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
                throw fail(field, Excerpt.cut(v.toString(), 64) + " is not an integer in " + min + ".." + max);
            }
            return v.asLong();
        }

        private Double decimal(JsonNode node, String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) return null;
            if (!v.isNumber()) throw fail(field, Excerpt.cut(v.toString(), 64) + " is not a number");
            return v.asDouble();
        }

        private PromptLine parseCsv() {
            List<String> cells = csvCells(text, lineNumber);
            if (cells.size() != header.size()) {
                throw fail("line", cells.size() + " fields, the header has " + header.size());
            }
            Map<String, String> row = new java.util.HashMap<>();
            for (int i = 0; i < cells.size(); i++) {
                if (!cells.get(i).isEmpty()) row.put(header.get(i), cells.get(i));
            }
            return new PromptLine(lineNumber, row.get("prompt"), row.get("negativePrompt"),
                    parseLong(row, "seed", Long.MIN_VALUE, Long.MAX_VALUE), parseInt(row, "steps"),
                    parseDouble(row, "guidance"), parseInt(row, "width"), parseInt(row, "height"),
                    row.get("scheduler"), parseInt(row, "count"), row.get("id"));
        }

        private Integer parseInt(Map<String, String> row, String field) {
            Long v = parseLong(row, field, Integer.MIN_VALUE, Integer.MAX_VALUE);
            return v == null ? null : v.intValue();
        }

        private Long parseLong(Map<String, String> row, String field, long min, long max) {
            String v = row.get(field);
            if (v == null) return null;
            try {
                long n = Long.parseLong(v.trim());
                if (n >= min && n <= max) return n;
            } catch (NumberFormatException ignored) {
                // worded below
            }
            throw fail(field, Excerpt.quote(v) + " is not an integer in " + min + ".." + max);
        }

        private Double parseDouble(Map<String, String> row, String field) {
            String v = row.get(field);
            if (v == null) return null;
            try {
                return Double.parseDouble(v.trim());
            } catch (NumberFormatException e) {
                throw fail(field, Excerpt.quote(v) + " is not a number");
            }
        }

        private LineException fail(String field, String message) {
            return new LineException("line " + lineNumber + ": " + field + ": " + message, false);
        }
    }

    /** RFC 4180 fields of one record: commas separate, double quotes quote, {@code ""} is a quote inside quotes. */
    static List<String> csvCells(String record, long lineNumber) {
        List<String> cells = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        boolean quoted = false;
        boolean wasQuoted = false;
        for (int i = 0; i < record.length(); i++) {
            char c = record.charAt(i);
            if (quoted) {
                if (c == '"') {
                    if (i + 1 < record.length() && record.charAt(i + 1) == '"') {
                        cell.append('"');
                        i++;
                    } else {
                        quoted = false;
                    }
                } else {
                    cell.append(c);
                }
            } else if (c == ',') {
                cells.add(cell.toString());
                cell.setLength(0);
                wasQuoted = false;
            } else if (c == '"' && cell.length() == 0 && !wasQuoted) {
                quoted = true;
                wasQuoted = true;
            } else if (wasQuoted) {
                throw new LineException("line " + lineNumber + ": line: text after a closing quote", false);
            } else {
                cell.append(c);
            }
        }
        if (quoted) {
            throw new LineException("line " + lineNumber + ": line: a quoted field is not closed", false);
        }
        cells.add(cell.toString());
        return cells;
    }

    /**
     * Splits the stream into records, tracking line numbers and byte offsets; skips blank lines and,
     * for CSV, reads the header first. Holds one record at a time.
     */
    private static final class Records implements AutoCloseable {
        private final InputStream in;
        private final Format format;
        private final long maxBytes;
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        private List<String> header;
        private long offset;
        private long line = 1;
        private boolean end;

        /** Reads from the stream's first byte; with {@code skipTo > 0}, goes on from there as line {@code skipLine}. */
        Records(InputStream in, Format format, long skipTo, long skipLine, long maxBytes) {
            this.in = new BufferedInputStream(in, 64 * 1024);
            this.format = format;
            this.maxBytes = maxBytes;
            if (format == Format.CSV) {
                readHeader();
            }
            if (skipTo > offset) {
                skip(skipTo - offset);
                line = skipLine;
            }
        }

        private void readHeader() {
            Record first = read();
            if (first == null) {
                throw new LineException("line 1: header: the CSV file is empty", true);
            }
            List<String> names = csvCells(first.text, first.lineNumber);
            for (String name : names) {
                if (!PromptLine.FIELDS.contains(name)) {
                    throw new LineException("line " + first.lineNumber + ": header: " + Excerpt.quote(name)
                            + " is not one of " + String.join(", ", PromptLine.FIELDS), true);
                }
            }
            if (!names.contains("prompt")) {
                throw new LineException("line " + first.lineNumber + ": header: has no prompt column", true);
            }
            header = List.copyOf(names);
        }

        private void skip(long bytes) {
            try {
                long left = bytes;
                while (left > 0) {
                    long n = in.skip(left);
                    if (n <= 0) {
                        if (in.read() < 0) throw new IllegalStateException("the file ends before byte " + (offset + bytes));
                        n = 1;
                    }
                    left -= n;
                }
                offset += bytes;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** The next non-blank record, or null at the end; a bad one throws {@link LineException}. */
        Record next() {
            if (header == null && format == Format.CSV) {
                throw new IllegalStateException("no header");
            }
            Record r;
            do {
                r = read();
            } while (r != null && r.text.isBlank());
            return r;
        }

        /** {@link #next()} for the images pass, where the lines are known good. */
        Record nextOrFail() {
            try {
                return next();
            } catch (LineException e) {
                throw new IllegalStateException(e.getMessage() + " (the file changed since it was validated?)");
            }
        }

        private Record read() {
            if (end) return null;
            buffer.reset();
            long start = offset;
            long startLine = line;
            boolean quoted = false;
            boolean tooLong = false;
            try {
                while (true) {
                    int b = in.read();
                    if (b < 0) {
                        end = true;
                        if (offset == start) return null;
                        break;
                    }
                    offset++;
                    if (offset > maxBytes) {
                        end = true;
                        throw new LineException("line " + line + ": promptsUri: the file is more than " + maxBytes
                                + " bytes", true);
                    }
                    if (b == '\n') {
                        line++;
                        if (!quoted) break;
                    }
                    if (b == '"' && format == Format.CSV) quoted = !quoted;
                    if (buffer.size() < MAX_LINE_BYTES) {
                        buffer.write(b);
                    } else {
                        tooLong = true;
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (tooLong) {
                throw new LineException("line " + startLine + ": line: more than " + MAX_LINE_BYTES + " bytes", false);
            }
            byte[] bytes = buffer.toByteArray();
            int n = bytes.length;
            if (n > 0 && bytes[n - 1] == '\r') n--;
            if (startLine == 1 && n >= 3 && (bytes[0] & 0xff) == 0xEF && (bytes[1] & 0xff) == 0xBB
                    && (bytes[2] & 0xff) == 0xBF) {
                // a UTF-8 byte order mark, as spreadsheet programs write
                bytes = java.util.Arrays.copyOfRange(bytes, 3, n);
                n = bytes.length;
            }
            String text;
            try {
                text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(bytes, 0, n)).toString();
            } catch (CharacterCodingException e) {
                throw new LineException("line " + startLine + ": line: is not UTF-8", false);
            }
            return new Record(format, header, startLine, start, offset, line, text);
        }

        @Override
        public void close() {
            try {
                in.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
