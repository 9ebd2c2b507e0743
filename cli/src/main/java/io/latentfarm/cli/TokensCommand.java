package io.latentfarm.cli;

import io.latentfarm.model.files.ModelFolder;
import io.latentfarm.model.text.ClipTokenizer;
import io.latentfarm.model.text.ClipTokens;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code latentfarm tokens --model DIR --prompt TEXT}: the prompt's CLIP token ids as the text
 * encoder gets them, as one line of JSON {@code {"ids":[...],"tokens":N,"truncated":false}}.
 * {@code tokens} counts bos + BPE ids + eos before truncation.
 */
@Command(name = "tokens",
        mixinStandardHelpOptions = true,
        description = "Print a prompt's CLIP token ids (bos, ids, eos, padding) as one line of JSON.")
final class TokensCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "A diffusers Stable Diffusion folder (its tokenizer/ is read).")
    Path model;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The prompt.")
    String prompt;

    @Override
    public Integer call() {
        ModelFolder folder = ModelFolder.open(model);
        ClipTokens t = ClipTokenizer.load(folder.component("tokenizer")).encode(prompt);
        StringBuilder json = new StringBuilder("{\"ids\":[");
        for (int i = 0; i < t.ids().length; i++) {
            if (i > 0) json.append(',');
            json.append(t.ids()[i]);
        }
        json.append("],\"tokens\":").append(t.tokens()).append(",\"truncated\":").append(t.truncated()).append('}');
        PrintWriter out = spec.commandLine().getOut();
        out.println(json);
        out.flush();
        return 0;
    }
}
