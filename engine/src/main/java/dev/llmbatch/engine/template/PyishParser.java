package dev.llmbatch.engine.template;

import static jinjava.de.odysseus.el.tree.impl.Builder.Feature.METHOD_INVOCATIONS;
import static jinjava.de.odysseus.el.tree.impl.Builder.Feature.NULL_PROPERTIES;

import com.hubspot.jinjava.el.ext.AdditionOperator;
import com.hubspot.jinjava.el.ext.ExtendedParser;
import jinjava.de.odysseus.el.tree.impl.Builder;
import jinjava.de.odysseus.el.tree.impl.Parser.ExtensionHandler;
import jinjava.de.odysseus.el.tree.impl.Parser.ExtensionPoint;
import jinjava.de.odysseus.el.tree.impl.Parser.ParseException;
import jinjava.de.odysseus.el.tree.impl.Scanner.ScanException;
import jinjava.de.odysseus.el.tree.impl.Scanner.Symbol;
import jinjava.de.odysseus.el.tree.impl.ast.AstBinary;
import jinjava.de.odysseus.el.tree.impl.ast.AstBracket;
import jinjava.de.odysseus.el.tree.impl.ast.AstDot;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstUnary;

/**
 * Jinjava's expression parser with two Python features it lacks: {@code *} repeating strings
 * and lists, and slices with a step ({@code messages[::-1]}, which Qwen templates use). Postfix
 * parsing ({@code .name}, {@code .name(...)}, {@code [i]}, {@code [a:b:c]}) is redone here; the
 * rest is Jinjava's. Assumes Jinjava's natural operator precedence (which {@link ChatTemplate}
 * always enables).
 */
final class PyishParser extends ExtendedParser {
  private final AstBinary.Operator repeat;

  PyishParser(Builder context, String input, AstBinary.Operator repeat) {
    super(context, input);
    this.repeat = repeat;
  }

  @Override
  protected AstBinary createAstBinary(AstNode left, AstNode right, AstBinary.Operator operator) {
    AstBinary.Operator op = operator == AstBinary.MUL ? repeat
        : operator == AstBinary.MOD ? PyishJinjava.FLOOR_MOD : operator;
    return super.createAstBinary(left, right, op);
  }

  /**
   * Jinja2's {@code not} binds looser than comparisons and tests: {@code not x is defined} is
   * {@code not (x is defined)} and {@code not a == 1} is {@code not (a == 1)}; Jinjava applied
   * it to the operand alone.
   */
  @Override
  protected AstNode eq(boolean required) throws ScanException, ParseException {
    if (at(Symbol.NOT)) {
      consumeToken();
      return createAstUnary(eq(true), AstUnary.NOT);
    }
    return super.eq(required);
  }

  /**
   * Jinjava parses a keyword argument's value at additive precedence, so
   * {@code namespace(n=messages|length - 1)} became {@code (n=messages|length) - 1}; in Jinja2
   * the value is a whole expression.
   */
  @Override
  protected AstNode add(boolean required) throws ScanException, ParseException {
    AstNode v = mul(required);
    if (v == null) {
      return null;
    }
    while (true) {
      Symbol symbol = getToken().getSymbol();
      if (symbol == Symbol.PLUS) {
        consumeToken();
        v = createAstBinary(v, mul(true), AdditionOperator.OP);
      } else if (symbol == Symbol.MINUS) {
        consumeToken();
        v = createAstBinary(v, mul(true), AstBinary.SUB);
      } else if (symbol == Symbol.EXTENSION
          && getExtensionHandler(getToken()).getExtensionPoint() == ExtensionPoint.ADD) {
        boolean keyword = "=".equals(getToken().getImage());
        ExtensionHandler handler = getExtensionHandler(consumeToken());
        v = handler.createAstNode(v, keyword ? expr(true) : mul(true));
      } else {
        return v;
      }
    }
  }

  @Override
  protected AstNode value() throws ScanException, ParseException {
    boolean lvalue = true;
    AstNode v = nonliteral();
    if (v == null) {
      v = literal();
      if (v == null) {
        return null;
      }
      lvalue = false;
    }
    while (true) {
      Symbol symbol = getToken().getSymbol();
      if (symbol == Symbol.DOT) {
        consumeToken();
        String name = consumeToken(Symbol.IDENTIFIER).getImage();
        AstDot dot = createAstDot(v, name, lvalue);
        v = isCall() ? createAstMethod(dot, params()) : dot;
      } else if (symbol == Symbol.LBRACK) {
        consumeToken();
        v = subscript(v, lvalue);
      } else {
        return v;
      }
    }
  }

  /** After '[': an index {@code [i]} (maybe called) or a slice {@code [a:b]}, {@code [a:b:c]}. */
  private AstNode subscript(AstNode v, boolean lvalue) throws ScanException, ParseException {
    AstNode start = at(Symbol.COLON) ? null : expr(false);
    if (at(Symbol.RBRACK)) {
      consumeToken();
      AstBracket bracket = createAstBracket(v, start, lvalue, !context.isEnabled(NULL_PROPERTIES));
      return isCall() ? createAstMethod(bracket, params()) : bracket;
    }
    consumeToken(Symbol.COLON);
    AstNode stop = at(Symbol.COLON) || at(Symbol.RBRACK) ? null : expr(false);
    AstNode step = null;
    if (at(Symbol.COLON)) {
      consumeToken();
      step = at(Symbol.RBRACK) ? null : expr(false);
    }
    consumeToken(Symbol.RBRACK);
    return new PySlice(v, start, stop, step);
  }

  private boolean at(Symbol symbol) {
    return getToken().getSymbol() == symbol;
  }

  private boolean isCall() {
    return at(Symbol.LPAREN) && context.isEnabled(METHOD_INVOCATIONS);
  }
}
