package dev.edgeaffect.core

/**
 * A strict JSON reader for manifest.json (RFC 8259): objects become
 * Map<String, Any?>, arrays List<Any?>, numbers Double, plus String, Boolean
 * and null. Kept here so the core module has no dependency beyond the
 * Kotlin standard library and runs unchanged on Android and the JVM.
 */
object Json {
    fun parse(text: String): Any? {
        val reader = Reader(text)
        val value = reader.value()
        reader.skipSpace()
        if (!reader.atEnd()) throw reader.error("trailing characters")
        return value
    }

    private class Reader(private val s: String) {
        private var i = 0

        fun atEnd() = i >= s.length

        fun error(what: String) = ManifestException("JSON: $what at offset $i")

        fun skipSpace() {
            while (i < s.length && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++
        }

        fun value(): Any? {
            skipSpace()
            if (atEnd()) throw error("unexpected end")
            return when (s[i]) {
                '{' -> obj()
                '[' -> array()
                '"' -> string()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> number()
            }
        }

        private fun literal(word: String, result: Any?): Any? {
            if (!s.startsWith(word, i)) throw error("invalid literal")
            i += word.length
            return result
        }

        private fun expect(c: Char) {
            skipSpace()
            if (atEnd() || s[i] != c) throw error("expected '$c'")
            i++
        }

        private fun obj(): Map<String, Any?> {
            val out = LinkedHashMap<String, Any?>()
            expect('{')
            skipSpace()
            if (!atEnd() && s[i] == '}') { i++; return out }
            while (true) {
                skipSpace()
                if (atEnd() || s[i] != '"') throw error("expected a key")
                val key = string()
                expect(':')
                out[key] = value()
                skipSpace()
                if (atEnd()) throw error("unterminated object")
                if (s[i] == '}') { i++; return out }
                expect(',')
            }
        }

        private fun array(): List<Any?> {
            val out = ArrayList<Any?>()
            expect('[')
            skipSpace()
            if (!atEnd() && s[i] == ']') { i++; return out }
            while (true) {
                out.add(value())
                skipSpace()
                if (atEnd()) throw error("unterminated array")
                if (s[i] == ']') { i++; return out }
                expect(',')
            }
        }

        private fun string(): String {
            expect('"')
            val sb = StringBuilder()
            while (true) {
                if (atEnd()) throw error("unterminated string")
                val c = s[i++]
                when {
                    c == '"' -> return sb.toString()
                    c == '\\' -> {
                        if (atEnd()) throw error("unterminated escape")
                        when (val e = s[i++]) {
                            '"', '\\', '/' -> sb.append(e)
                            'b' -> sb.append('\b')
                            'f' -> sb.append('\u000C')
                            'n' -> sb.append('\n')
                            'r' -> sb.append('\r')
                            't' -> sb.append('\t')
                            'u' -> {
                                if (i + 4 > s.length) throw error("short \\u escape")
                                sb.append(s.substring(i, i + 4).toInt(16).toChar())
                                i += 4
                            }
                            else -> throw error("invalid escape '\\$e'")
                        }
                    }
                    c < ' ' -> throw error("control character in string")
                    else -> sb.append(c)
                }
            }
        }

        private fun number(): Double {
            val start = i
            if (i < s.length && s[i] == '-') i++
            while (i < s.length && (s[i].isDigit() || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
                        s[i] == '+' || s[i] == '-')) i++
            val token = s.substring(start, i)
            return token.toDoubleOrNull() ?: throw error("invalid number '$token'")
        }
    }
}
