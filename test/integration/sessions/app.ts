/**
 * The README's Express example, as the tests run it (test/unit/cache/session/readme.spec.ts
 * checks that the README shows the region below verbatim).
 */
import express, { type Express } from 'express';
import session, { type Store } from 'express-session';
import { ExpressSessionData, Session, expressSessionStore, type RedisClient } from '../../../src';

// #region readme-express
declare module 'express-session' {
  interface SessionData {
    user?: string;
  }
}

/** The session store: the one line that differs from connect-redis. */
export const sessionStore = (
  client: RedisClient,
  { prefix = 'myapp:', ttlMs = 30 * 60_000, absoluteTtlMs = 12 * 60 * 60_000 } = {},
): Store =>
  // was: new RedisStore({ client: redisClient, prefix })
  expressSessionStore(
    Session.make({ client, codec: ExpressSessionData, prefix, ttlMs, absoluteTtlMs }),
  );

export const makeApp = (store: Store): Express => {
  const app = express();
  app.use(express.json());
  app.use(
    session({
      store,
      secret: process.env['SESSION_SECRET'] ?? 'keyboard cat',
      resave: false, // the store's touch keeps unchanged sessions alive
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax' },
    }),
  );

  app.post('/login', (req, res, next) => {
    // a new id at sign-in: the defence against session fixation
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = String(req.body?.user ?? '');
      res.json({ user: req.session.user });
    });
  });

  app.get('/me', (req, res) => {
    if (req.session.user === undefined) res.status(401).json({ error: 'not signed in' });
    else res.json({ user: req.session.user });
  });

  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.status(204).end()));
  });

  return app;
};
// #endregion readme-express
