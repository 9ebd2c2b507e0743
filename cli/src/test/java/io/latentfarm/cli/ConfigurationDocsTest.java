package io.latentfarm.cli;

import io.latentfarm.cli.DeploymentManifestsTest.Role;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docs/configuration.md lists every setting of both services, as the code binds it
 * ({@link ServiceSettings}), with its environment variable, the roles that read it, and its default
 * as the roles' {@code application-*.yml} give it; a setting added without a row, a row left behind,
 * or a default that differs fails here. A setting both roles' files set must have one default there
 * (so that {@code latentfarm local}, which loads both, configures nothing differently).
 */
class ConfigurationDocsTest {
    private static final Path DOC = LauncherProcess.root().resolve("docs/configuration.md");
    private static final Pattern ROW = Pattern.compile(
            "^\\| `(latentfarm\\.[a-z0-9.*-]+)` \\| `([A-Z0-9_*]+)` \\| (.+?) \\| (both|coordinator|worker) \\| (.+) \\|$");
    private static final Pattern CODE = Pattern.compile("^`([^`]*)`");

    record Row(String name, String env, String defaultCell, String roles, String meaning) {
    }

    @Test
    void everySettingIsDocumentedWithItsDefault() throws Exception {
        SortedMap<String, ServiceSettings.Setting> settings = ServiceSettings.all();
        Map<String, Row> rows = rows();
        List<String> problems = new ArrayList<>();
        for (ServiceSettings.Setting s : settings.values()) {
            Set<String> values = new HashSet<>(s.defaults().values());
            if (values.size() > 1) {
                problems.add(s.name() + ": the roles' files give different defaults " + s.defaults());
            }
            Row row = rows.get(s.name());
            if (row == null) {
                problems.add("not documented: " + expectedRow(s));
                continue;
            }
            if (!row.env().equals(s.env())) {
                problems.add(s.name() + ": environment variable " + row.env() + ", but Micronaut reads " + s.env());
            }
            if (!row.roles().equals(roles(s.roles()))) {
                problems.add(s.name() + ": documented for " + row.roles() + ", read by " + roles(s.roles()));
            }
            String problem = defaultProblem(s, row.defaultCell());
            if (problem != null) {
                problems.add(s.name() + ": " + problem);
            }
        }
        for (String name : rows.keySet()) {
            if (!settings.containsKey(name)) {
                problems.add("documented, but no service reads it: " + name);
            }
        }
        assertTrue(problems.isEmpty(), "docs/configuration.md and the code disagree:\n" + String.join("\n", problems));
    }

    @Test
    void theServicesDocumentationLinksHere() throws Exception {
        String kafka = Files.readString(LauncherProcess.root().resolve("docs/kafka.md"));
        assertTrue(kafka.contains("(configuration.md)"), "docs/kafka.md links to docs/configuration.md");
    }

    /** What a row of a yml default must say: the value in code quotes; an empty one "empty..."; none "none...". */
    static String defaultProblem(ServiceSettings.Setting s, String cell) {
        if (s.defaults().isEmpty()) {
            return cell.startsWith("none") ? null : "no default in the roles' files, so the row's default must say"
                    + " none (it says " + cell + ")";
        }
        String value = s.defaults().values().iterator().next();
        if (value.isEmpty()) {
            return cell.startsWith("empty") ? null : "the default is empty, so the row must say empty (it says " + cell + ")";
        }
        Matcher m = CODE.matcher(cell);
        return m.find() && m.group(1).equals(value) ? null
                : "the default is `" + value + "`, the row says " + cell;
    }

    static String roles(Set<Role> roles) {
        return roles.equals(EnumSet.allOf(Role.class)) ? "both" : roles.iterator().next().name;
    }

    static String expectedRow(ServiceSettings.Setting s) {
        String value = s.defaults().isEmpty() ? "none" : s.defaults().values().iterator().next();
        String cell = value.equals("none") ? "none" : value.isEmpty() ? "empty" : "`" + value + "`";
        return "| `" + s.name() + "` | `" + s.env() + "` | " + cell + " | " + roles(s.roles()) + " | "
                + (s.description().isEmpty() ? "?" : s.description()) + " |";
    }

    static Map<String, Row> rows() throws Exception {
        Map<String, Row> rows = new TreeMap<>();
        for (String line : Files.readAllLines(DOC)) {
            Matcher m = ROW.matcher(line);
            if (m.matches()) {
                Row previous = rows.put(m.group(1), new Row(m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)));
                assertEquals(null, previous, "documented twice: " + m.group(1));
            } else {
                assertTrue(!line.startsWith("| `latentfarm."), "a row the check cannot read: " + line);
            }
        }
        return rows;
    }

}
